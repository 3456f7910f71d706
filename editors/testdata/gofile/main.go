package main

import (
	"fmt"
	"strings"
)

// greet returns a greeting for name.
func greet(name string) string {
	return "Hello, " + strings.TrimSpace(name) + "!"
}

func main() {
	names := []string{"Ada", "Grace", "Linus"}
	for _, n := range names {
		
	}
}
