module github.com/bufev/bufev/bench

go 1.26.0

require (
	github.com/bufev/bufev/backends/async v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/backends/socket v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/bufferevent v0.0.0-00010101000000-000000000000
	github.com/bufev/bufev/eventbase v0.0.0-00010101000000-000000000000
	github.com/panjf2000/gnet/v2 v2.9.7
	golang.org/x/sys v0.50.0
)

require (
	github.com/bufev/bufev/evbuffer v0.0.0-00010101000000-000000000000 // indirect
	github.com/bufev/bufev/ratelimit v0.0.0-00010101000000-000000000000 // indirect
	github.com/panjf2000/ants/v2 v2.11.3 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.27.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)

replace (
	github.com/bufev/bufev/backends/async => ../backends/async
	github.com/bufev/bufev/backends/socket => ../backends/socket
	github.com/bufev/bufev/bufferevent => ../bufferevent
	github.com/bufev/bufev/evbuffer => ../evbuffer
	github.com/bufev/bufev/eventbase => ../eventbase
	github.com/bufev/bufev/ratelimit => ../ratelimit
)
