package sesame

import "strings"

// Where a recovery reads from. A dry run records its source, so that its
// apply reads the same one again; the reference is stored as its String.

// SourceKind says what a recovery reads.
type SourceKind string

const (
	SourceYear   SourceKind = "year"   // a previous base of the same school
	SourceUpload SourceKind = "upload" // a rentrée file uploaded for the base
	SourceObject SourceKind = "s3"     // an object version of the import bucket
)

// SourceRef names a recovery's source: the year of a base, the ID of an
// upload, or an object version (bucket, key, version) of the import bucket.
// Opening it is the wiring's business (infra/sources).
type SourceRef struct {
	Kind    SourceKind
	Year    Year   // SourceYear
	Upload  string // SourceUpload
	Bucket  string // SourceObject
	Key     string // SourceObject
	Version string // SourceObject ("" for an unversioned bucket)
}

// FromYear names the base of year y of the same school.
func FromYear(y Year) SourceRef { return SourceRef{Kind: SourceYear, Year: y} }

// FromUpload names an uploaded rentrée file.
func FromUpload(id string) SourceRef { return SourceRef{Kind: SourceUpload, Upload: id} }

// FromObject names an object version of the import bucket.
func FromObject(bucket, key, version string) SourceRef {
	return SourceRef{Kind: SourceObject, Bucket: bucket, Key: key, Version: version}
}

// String writes ref as it is stored: "year:2025-2026", "upload:ID",
// "s3:BUCKET/KEY@VERSION".
func (ref SourceRef) String() string {
	switch ref.Kind {
	case SourceYear:
		return "year:" + string(ref.Year)
	case SourceUpload:
		return "upload:" + ref.Upload
	case SourceObject:
		return "s3:" + ref.Bucket + "/" + ref.Key + "@" + ref.Version
	}
	return ""
}

// ParseSourceRef reads a reference written by String.
func ParseSourceRef(s string) (SourceRef, error) {
	kind, arg, _ := strings.Cut(s, ":")
	switch SourceKind(kind) {
	case SourceYear:
		y, err := ParseYear(arg)
		return FromYear(y), err
	case SourceUpload:
		if arg != "" {
			return FromUpload(arg), nil
		}
	case SourceObject:
		bucketKey, version, _ := strings.Cut(arg, "@")
		bucket, key, ok := strings.Cut(bucketKey, "/")
		if ok && bucket != "" && key != "" {
			return FromObject(bucket, key, version), nil
		}
	}
	return SourceRef{}, Invalid("source", "Source de récupération inconnue : « %s ».", clip(s, 200))
}
