//go:build !linux

package models

import "os"

func startWriteback(*os.File) {}
