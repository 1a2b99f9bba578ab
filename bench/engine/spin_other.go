//go:build !linux

package main

import "syscall"

func spinAttr() *syscall.SysProcAttr { return nil }
