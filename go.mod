module runner

go 1.26.0

require (
	github.com/dlclark/regexp2 v1.12.0
	github.com/rivo/uniseg v0.4.7
	github.com/spf13/pflag v1.1.0
	golang.org/x/text v0.44.0
	google.golang.org/protobuf v1.36.12
)
