module github.com/bufev/bufev/examples

go 1.24.0

require github.com/bufev/bufev/evbuffer v0.0.0-00010101000000-000000000000

require golang.org/x/sys v0.41.0 // indirect

replace github.com/bufev/bufev/evbuffer => ../evbuffer
