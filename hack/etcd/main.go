// Command etcd is the etcd server, built from go.etcd.io/etcd/server/v3 so
// that leakwatch's local control plane (hack/cluster.sh) needs no prebuilt
// release download.  It is a build wrapper only: no leakwatch code lives here.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
