// Synthetic goroutine endpoints for many kwok pods at once, and a counting
// proxy in front of the API server, for the controller benchmark
// (hack/bench/sections/controller.sh).  Standard library only, so building
// it needs nothing from the module proxy.
module leakwatch/hack/bench/profserver

go 1.26.0
