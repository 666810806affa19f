module github.com/bufev/bufev/bench

go 1.24.0
