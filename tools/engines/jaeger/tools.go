//go:build tools

// The command this module pins; `go build` names it by import path (see scripts/engines/build.sh).
package tools

import (
	_ "github.com/jaegertracing/jaeger/cmd/jaeger"
)
