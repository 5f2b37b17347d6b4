// pause holds a pod's namespaces open: it sleeps until SIGINT or SIGTERM and, as PID 1 of a pod that shares its
// process namespace, reaps orphaned children. The same job as Kubernetes' C pause, in Go so the Go toolchain
// alone builds it (statically, CGO_ENABLED=0) and the image is one file.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		os.Stdout.WriteString("pause (switchyard, Go)\n")
		return
	}
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s == syscall.SIGCHLD {
			for {
				var status syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
