module github.com/bufev/bufev/ratelimit

go 1.26.0
