package main

import "syscall"

// spinAttr makes a busy background process die with the benchmark.
func spinAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
