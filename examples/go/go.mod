// The Go example as a module, for a machine with the module proxy:
// `buf generate` at the repository root writes the stubs into gen/, then
// `go mod tidy && go run . --help` here. build.sh builds it offline instead.
module hotline-mesh/examples/go

go 1.19

require (
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
