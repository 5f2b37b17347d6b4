// etcd, as the kube-apiserver under the tests needs it: the upstream server's own entry point, built from
// go.etcd.io/etcd/server/v3 at the version pinned in go.mod (the release k8s.io/kubernetes itself depends on).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
