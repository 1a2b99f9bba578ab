package sandbox

import (
	"fmt"
	"strings"
)

// Spec is what a plugin process may reach, besides the system folders a
// program needs. Paths are absolute.
type Spec struct {
	// Exec is the program, executed from wherever it is.
	Exec string `json:"exec"`
	// Read are folders or files it may read (and execute).
	Read []string `json:"read,omitempty"`
	// Write are folders or files it may read, write, create and remove.
	Write []string `json:"write,omitempty"`
	// Net allows TCP and UDP; without it both are refused where the
	// kernel can restrict them.
	Net bool `json:"net,omitempty"`
}

// Protection is what confines plugins on this system.
type Protection struct {
	// Kind is "landlock" or "none".
	Kind string
	// ABI is the Landlock ABI version enforced (0 without Landlock).
	ABI int
	// Covers lists what is restricted: "files", "tcp", "udp",
	// "device ioctl", "signals", "abstract sockets", "unix sockets".
	Covers []string
	// Why says why there is none, when Kind is "none".
	Why string
}

func (p Protection) String() string {
	if p.Kind == "none" {
		return "none (" + p.Why + ")"
	}
	return fmt.Sprintf("Landlock ABI %d: %s", p.ABI, strings.Join(p.Covers, ", "))
}

// Confined reports whether plugins are confined at all.
func (p Protection) Confined() bool { return p.Kind != "none" }

// covers lists what Landlock ABI abi restricts.
func covers(abi int) []string {
	var c []string
	if abi >= 1 {
		c = append(c, "files")
	}
	if abi >= 4 {
		c = append(c, "tcp")
	}
	if abi >= 10 {
		c = append(c, "udp")
	}
	if abi >= 5 {
		c = append(c, "device ioctl")
	}
	if abi >= 6 {
		c = append(c, "signals", "abstract sockets")
	}
	if abi >= 9 {
		c = append(c, "unix sockets")
	}
	return c
}
