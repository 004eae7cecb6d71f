// goprobe: a plain Go program for the lab, built with the Go toolchain Debian ships. It opens its sockets the
// way any Go program does (the runtime's own system calls, never the C library's socket()), so the tests can
// see what Test-MptcpApplication says about a real Go binary.
//
//	goprobe dial HOST:PORT    connect, print {"connected":true}, hold the connection for 60 s
//	goprobe listen HOST:PORT  listen, print {"listening":true}, accept and hold connections for 60 s
package main

import (
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: goprobe dial|listen HOST:PORT")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "dial":
		c, err := net.Dial("tcp", os.Args[2])
		if err != nil {
			fmt.Printf("{\"connected\":false,\"error\":%q}\n", err.Error())
			os.Exit(1)
		}
		defer c.Close()
		fmt.Println(`{"connected":true}`)
	case "listen":
		l, err := net.Listen("tcp", os.Args[2])
		if err != nil {
			fmt.Printf("{\"listening\":false,\"error\":%q}\n", err.Error())
			os.Exit(1)
		}
		defer l.Close()
		fmt.Println(`{"listening":true}`)
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
	default:
		os.Exit(2)
	}
	time.Sleep(60 * time.Second)
}
