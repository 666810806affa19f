module github.com/bufev/bufev/bufferevent

go 1.24.0
