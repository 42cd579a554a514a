module runner

go 1.26.0

require (
	github.com/spf13/pflag v1.1.0
	google.golang.org/protobuf v1.36.12
)

require golang.org/x/sync v0.17.0 // indirect
