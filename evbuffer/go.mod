module github.com/bufev/bufev/evbuffer

go 1.24.0
