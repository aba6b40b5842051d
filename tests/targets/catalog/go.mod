module leakwatch.dev/catalog

// go 1.22 is the floor the pinned grpc-go, modernc.org/sqlite and x/sync
// releases accept, so the fixtures can be recorded with go1.22 as well as
// the current release.
go 1.22.0

require (
	golang.org/x/sync v0.11.0
	google.golang.org/grpc v1.71.1
	google.golang.org/protobuf v1.36.4
	modernc.org/sqlite v1.36.0
)

require (
	github.com/dustin/go-humanize v1.0.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/ncruces/go-strftime v0.1.9 // indirect
	github.com/remyoudompheng/bigfft v0.0.0-20230129092748-24d4a6f8daec // indirect
	golang.org/x/exp v0.0.0-20230315142452-642cacee5cc0 // indirect
	golang.org/x/net v0.34.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
	golang.org/x/text v0.21.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20250115164207-1a7da9e5054f // indirect
	modernc.org/libc v1.61.13 // indirect
	modernc.org/mathutil v1.7.1 // indirect
	modernc.org/memory v1.8.2 // indirect
)
