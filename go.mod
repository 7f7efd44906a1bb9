module github.com/offloadpmd/offloadpmd

go 1.26.8

require (
	github.com/gopacket/gopacket v1.7.7
	github.com/mattn/go-isatty v0.0.20
	github.com/rs/zerolog v1.35.1
	golang.org/x/sys v0.50.0
)

require (
	github.com/mattn/go-colorable v0.1.14 // indirect
	golang.org/x/net v0.55.0 // indirect
)
