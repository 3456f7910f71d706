package gpu

import (
	"errors"
	"math"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// toBF16 rounds to the nearest bfloat16 (ties to even), NaN kept NaN: the
// tests' own rounding, independent of package model's.
func toBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7f800000 == 0x7f800000 && u&0x7fffff != 0 {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}
