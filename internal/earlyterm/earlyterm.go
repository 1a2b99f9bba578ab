package earlyterm

import "os"

var (
	term    string
	hadTerm bool
	set     bool
)

func init() {
	term, hadTerm = os.LookupEnv("TERM")
	set = os.Setenv("TERM", "dumb") == nil
}

// Restore puts TERM back as nook found it. It is safe to call more than
// once.
func Restore() {
	if !set {
		return
	}
	set = false
	if hadTerm {
		os.Setenv("TERM", term)
	} else {
		os.Unsetenv("TERM")
	}
}

// Term is TERM as nook found it (the variable itself may still read "dumb"
// before Restore).
func Term() string { return term }
