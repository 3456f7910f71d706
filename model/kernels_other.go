//go:build !amd64

package model

// useKernel selects the matrix kernel; only the plain Go one exists here.
func useKernel(name string) bool { return name == "go" }
