// Goroutine dump generator for the parse and diff benchmarks
// (hack/bench/run.sh).  Standard library only, so building it needs nothing
// from the module proxy.
module leakwatch/hack/bench/gen

go 1.26.0
