// Command hello greets the people named on its command line.
package main

import "fmt"

func main() {
	names := []string{"Ada", "Grace"}
	
	fmt.Println(len(names), "greeted")
}
