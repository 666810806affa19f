module github.com/bufev/bufev/examples

go 1.24.0
