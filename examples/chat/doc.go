// Command chat is a line-based chat server on bufev: every line a client sends is
// broadcast to every other client. Connect with nc or telnet:
//
//	go run ./chat -listen 127.0.0.1:9002
//	nc 127.0.0.1 9002
//
// Commands: "/nick NAME" renames you, "/who" lists who is online, "/quit" leaves.
//
// # One copy per message
//
// A message is formatted once into an evbuffer; each recipient's output then gets it
// with AddBufferReference, which links chains sharing that memory instead of copying
// the bytes. A message sent to a thousand clients occupies memory once, and the memory
// is recycled when the last client's socket has written it.
//
// # Bounded memory
//
// Lines longer than -max-line are refused (the client is told and disconnected), and a
// client that does not read — whose pending output exceeds -max-pending — is
// disconnected rather than buffered without bound. A client that leaves (/quit, or a
// line too long) gets its last lines first, but only while they make progress: after
// -linger (10 s) without any, the connection is closed.
package main
