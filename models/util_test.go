package models

import (
	"fmt"
	"strconv"
)

func itoa(n int) string                   { return strconv.Itoa(n) }
func rangeHeader(lo, hi, size int) string { return fmt.Sprintf("bytes %d-%d/%d", lo, hi, size) }

var fmtSscanf = fmt.Sscanf
