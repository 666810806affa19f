module github.com/bufev/bufev/ratelimit

go 1.24.0
