// Package s3local runs a real S3 server for the tests and the local hosted
// stack: versitygw, pinned, built once into .cache/bin, started on a
// temporary folder with versioning on. Unlike an in-process fake, it
// checks presigned signatures (key, length, Content-Type, secret, expiry),
// keeps object versions and answers conditional writes.
//
// versitygw has one global event webhook without filters, and its records
// are not S3's (eventName "s3:ObjectCreated:Put", keys not URL-encoded, a
// null versionId). [Bridge] turns them into the notifications S3 sends to
// Lambda: URL-encoded keys, the version id read back from the object, the
// template's prefix and suffix filters, and hands them to a function with
// Lambda's asynchronous semantics (lambdarie.Async).
//
// Tests use [Start] (install, start, stop at cleanup), which skips loudly
// on a developer's machine when versitygw cannot be had and fails under
// CI=true (testenv.Require).
package s3local
