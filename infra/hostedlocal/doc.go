// Package hostedlocal runs the hosted deployment whole on this machine, on
// loopback, from the artifacts `sam build` would upload: DynamoDB Local
// (infra/dynamolocal), versitygw with the import and web buckets
// (infra/s3local), the five functions' arm64 bootstraps under the Lambda
// RIE through qemu (infra/lambdarie; several instances where browsers call
// at once, one invocation at a time each), and a gateway that plays
// CloudFront and the HTTP API: the viewer-request functions of
// template.yaml under njs (infra/cloudfront), the origin request policy,
// the origin secret and CloudFront-Viewer-Address, then each /api/ request
// routed by the transformed template's OpenAPI body (infra/samlocal) to its
// function as a payload 2.0 event; the pages come from the web bucket,
// uploaded as `make deploy-web` uploads them. The import bucket's events
// reach the recover function through s3local's bridge, with Lambda's
// retries and an on-failure destination ([Stack.Failures]).
//
//	st, err := hostedlocal.Start(ctx, hostedlocal.Options{Addr: "127.0.0.1:8090"})
//	if err != nil { … }
//	defer st.Stop()
//	st.Print(os.Stdout) // Sésame (hébergé, local) : http://127.0.0.1:8090/ …
//
// `make run-hosted` runs it (infra/hostedlocal/cmd/run); the browser
// journeys of package web run against it as well as against `sesame serve`.
package hostedlocal
