//go:build tools

// The commands this module pins; `go build` names them by import path (see scripts/engines/build.sh).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
