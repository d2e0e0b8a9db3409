// Package s3trigger takes in the rentrée files that IT automation drops in
// the import bucket: for each S3 ObjectCreated record under
// imports/<UAI>/<year>/<name>.zip|.profils it reads the options from the
// object's metadata (x-amz-meta-add, x-amz-meta-update,
// x-amz-meta-dry-run: true or false; add only by default), opens that
// version of the object with the rentrée limits, runs the one recovery
// engine (sesame.Service.Recover) into the base <UAI>/<year>, and writes
// what happened under reports/<UAI>/<year>/<name>-<version>.json, with a
// French summary beside it (.txt). A refused file gets a report too
// (status "refused", error.code "invalid_import" and its reason), so that
// IT staff see why.
//
// Each object version is taken in once: a marker import job, keyed by a
// hash of the bucket, key and version id, is claimed before the work and
// closed after the report is written, so an event that S3 delivers twice,
// or that Lambda retries, is a no-op once done. The engine is idempotent
// by content too, and the reports are written only if absent, so a run
// cut short and retried finishes the same work and keeps the first
// report.
//
// Handle returns an error only when a retry may succeed (the store or S3
// unavailable, a concurrent recovery on the same base): Lambda then
// retries, and sends the event to the function's on-failure destination
// in the end. A refused file is final: its report is written and Handle
// returns nil.
//
//	client, err := s3object.New(cfg, endpoint) // cfg: the function's aws.Config
//	files := s3uploads.New(client, bucket, sesame.DefaultRentreeLimits.MaxCompressedIn)
//	tr, err := s3trigger.New(s3trigger.Config{Service: svc, API: client, Files: files, Bucket: bucket, Logger: log})
//	res, err := tr.Handle(ctx, event) // events.S3Event
package s3trigger
