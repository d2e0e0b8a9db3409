package tabledef

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// ResourceType is the CloudFormation type of the resources this package reads.
const ResourceType = "AWS::DynamoDB::Table"

// TableSpec is the data-shaping part of an AWS::DynamoDB::Table resource.
type TableSpec struct {
	// LogicalID is the resource's name in the template, e.g. "Table".
	LogicalID string
	// TableName is the literal TableName property, "" when CloudFormation
	// names the table itself.
	TableName string
	// BillingMode is PAY_PER_REQUEST (the default when absent) or PROVISIONED.
	BillingMode string
	// Throughput is the table's provisioned throughput, nil when absent.
	Throughput *Throughput
	// Attributes are the AttributeDefinitions, in template order.
	Attributes []Attribute
	// Key is the table's primary key.
	Key Key
	// GlobalIndexes and LocalIndexes are the secondary indexes, in template order.
	GlobalIndexes []Index
	LocalIndexes  []Index
	// StreamViewType is the stream's view type, "" when the table has no stream.
	StreamViewType string
	// TTL is the TimeToLiveSpecification, nil when absent.
	TTL *TTL
}

// Attribute is one attribute definition: a name and a scalar type (S, N or B).
type Attribute struct {
	Name string
	Type string
}

// Key is a primary key: a partition (HASH) attribute and an optional sort
// (RANGE) attribute, "" when there is none.
type Key struct {
	Hash  string
	Range string
}

// Index is a secondary index.
type Index struct {
	Name string
	Key  Key
	// ProjectionType is ALL, KEYS_ONLY or INCLUDE.
	ProjectionType   string
	NonKeyAttributes []string
	// Throughput is the index's provisioned throughput, nil when absent.
	Throughput *Throughput
}

// Throughput is a provisioned throughput.
type Throughput struct {
	Read, Write int64
}

// TTL is a time-to-live specification.
type TTL struct {
	AttributeName string
	Enabled       bool
}

// Index returns the global or local secondary index with that name.
func (s *TableSpec) Index(name string) (Index, bool) {
	for _, ix := range slices.Concat(s.GlobalIndexes, s.LocalIndexes) {
		if ix.Name == name {
			return ix, true
		}
	}
	return Index{}, false
}

// AttributeType returns the declared type of an attribute, "" when the
// attribute is not declared.
func (s *TableSpec) AttributeType(name string) string {
	for _, a := range s.Attributes {
		if a.Name == name {
			return a.Type
		}
	}
	return ""
}

// Load reads the template file at path and returns its table; see [Parse].
func Load(path string) (*TableSpec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tabledef: %w", err)
	}
	spec, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return spec, nil
}

// Parse reads a CloudFormation or SAM template in YAML and returns its one
// AWS::DynamoDB::Table resource. It is an error for the template to declare no
// table or several, or for a data-shaping property to be anything but a
// literal (see the package documentation).
func Parse(template []byte) (*TableSpec, error) {
	root, err := decodeTemplate(template)
	if err != nil {
		return nil, fmt.Errorf("tabledef: parsing template: %w", err)
	}
	// Going through JSON gives typed decoding with useful errors: a property
	// holding an intrinsic function ({"Ref": …}) where a string is expected
	// fails with the property's name.
	j, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("tabledef: parsing template: %w", err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string
			Properties json.RawMessage
		}
	}
	if err := json.Unmarshal(j, &tpl); err != nil {
		return nil, fmt.Errorf("tabledef: parsing template: %w", err)
	}
	var ids []string
	for id, r := range tpl.Resources {
		if r.Type == ResourceType {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	switch len(ids) {
	case 0:
		return nil, fmt.Errorf("tabledef: the template declares no %s resource", ResourceType)
	case 1:
	default:
		return nil, fmt.Errorf("tabledef: the template declares %d %s resources (%s); expected one", len(ids), ResourceType, strings.Join(ids, ", "))
	}
	spec, err := decodeTable(ids[0], tpl.Resources[ids[0]].Properties)
	if err != nil {
		return nil, fmt.Errorf("tabledef: resource %s: %w", ids[0], err)
	}
	return spec, nil
}

// The CloudFormation shape of the properties read, as JSON.
type (
	cfnTable struct {
		TableName               string
		BillingMode             string
		ProvisionedThroughput   *cfnThroughput
		AttributeDefinitions    []cfnAttribute
		KeySchema               []cfnKeyElement
		GlobalSecondaryIndexes  []cfnIndex
		LocalSecondaryIndexes   []cfnIndex
		StreamSpecification     *struct{ StreamViewType string }
		TimeToLiveSpecification *struct {
			AttributeName string
			Enabled       flexBool
		}
	}
	cfnAttribute struct {
		AttributeName string
		AttributeType string
	}
	cfnKeyElement struct {
		AttributeName string
		KeyType       string
	}
	cfnIndex struct {
		IndexName  string
		KeySchema  []cfnKeyElement
		Projection struct {
			ProjectionType   string
			NonKeyAttributes []string
		}
		ProvisionedThroughput *cfnThroughput
	}
	cfnThroughput struct {
		ReadCapacityUnits  flexInt
		WriteCapacityUnits flexInt
	}
)

func decodeTable(id string, props json.RawMessage) (*TableSpec, error) {
	var t cfnTable
	if len(props) == 0 || string(props) == "null" {
		return nil, fmt.Errorf("no Properties")
	}
	if err := json.Unmarshal(props, &t); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Value == "object" {
			return nil, fmt.Errorf("%w (the schema properties must be literal values, not intrinsic functions)", err)
		}
		return nil, err
	}
	spec := &TableSpec{
		LogicalID:   id,
		TableName:   t.TableName,
		BillingMode: t.BillingMode,
		Throughput:  t.ProvisionedThroughput.spec(),
	}
	if spec.BillingMode == "" {
		spec.BillingMode = "PAY_PER_REQUEST"
	}
	switch spec.BillingMode {
	case "PAY_PER_REQUEST":
	case "PROVISIONED":
		if spec.Throughput == nil {
			return nil, fmt.Errorf("BillingMode PROVISIONED needs ProvisionedThroughput")
		}
	default:
		return nil, fmt.Errorf("unknown BillingMode %q", spec.BillingMode)
	}

	declared := map[string]bool{}
	for _, a := range t.AttributeDefinitions {
		switch a.AttributeType {
		case "S", "N", "B":
		default:
			return nil, fmt.Errorf("attribute %q: unknown AttributeType %q", a.AttributeName, a.AttributeType)
		}
		if a.AttributeName == "" || declared[a.AttributeName] {
			return nil, fmt.Errorf("AttributeDefinitions: empty or duplicate name %q", a.AttributeName)
		}
		declared[a.AttributeName] = true
		spec.Attributes = append(spec.Attributes, Attribute{Name: a.AttributeName, Type: a.AttributeType})
	}
	used := map[string]bool{}
	key := func(what string, ks []cfnKeyElement) (Key, error) {
		k, err := decodeKey(ks)
		if err != nil {
			return Key{}, fmt.Errorf("%s: %w", what, err)
		}
		for _, name := range []string{k.Hash, k.Range} {
			if name == "" {
				continue
			}
			if !declared[name] {
				return Key{}, fmt.Errorf("%s: key attribute %q is not in AttributeDefinitions", what, name)
			}
			used[name] = true
		}
		return k, nil
	}

	var err error
	if spec.Key, err = key("KeySchema", t.KeySchema); err != nil {
		return nil, err
	}
	indexes := func(kind string, in []cfnIndex) ([]Index, error) {
		var out []Index
		for _, ix := range in {
			if ix.IndexName == "" {
				return nil, fmt.Errorf("%s: an index has no IndexName", kind)
			}
			if _, dup := spec.Index(ix.IndexName); dup || slices.ContainsFunc(out, func(o Index) bool { return o.Name == ix.IndexName }) {
				return nil, fmt.Errorf("%s: duplicate index %q", kind, ix.IndexName)
			}
			k, err := key(kind+" "+ix.IndexName, ix.KeySchema)
			if err != nil {
				return nil, err
			}
			p := ix.Projection.ProjectionType
			switch p {
			case "ALL", "KEYS_ONLY", "INCLUDE":
			case "":
				p = "KEYS_ONLY" // CloudFormation's default
			default:
				return nil, fmt.Errorf("%s %s: unknown ProjectionType %q", kind, ix.IndexName, p)
			}
			if (p == "INCLUDE") != (len(ix.Projection.NonKeyAttributes) > 0) {
				return nil, fmt.Errorf("%s %s: NonKeyAttributes go with ProjectionType INCLUDE only", kind, ix.IndexName)
			}
			out = append(out, Index{
				Name:             ix.IndexName,
				Key:              k,
				ProjectionType:   p,
				NonKeyAttributes: ix.Projection.NonKeyAttributes,
				Throughput:       ix.ProvisionedThroughput.spec(),
			})
		}
		return out, nil
	}
	if spec.GlobalIndexes, err = indexes("GlobalSecondaryIndexes", t.GlobalSecondaryIndexes); err != nil {
		return nil, err
	}
	if spec.LocalIndexes, err = indexes("LocalSecondaryIndexes", t.LocalSecondaryIndexes); err != nil {
		return nil, err
	}
	for _, ix := range spec.LocalIndexes {
		if ix.Key.Hash != spec.Key.Hash || ix.Key.Range == "" {
			return nil, fmt.Errorf("LocalSecondaryIndexes %s: must share the table's HASH key and have a RANGE key", ix.Name)
		}
	}
	for name := range declared {
		if !used[name] {
			// DynamoDB refuses definitions of attributes that no key uses.
			return nil, fmt.Errorf("AttributeDefinitions: %q is used by no key schema", name)
		}
	}
	if t.StreamSpecification != nil {
		spec.StreamViewType = t.StreamSpecification.StreamViewType
	}
	if t.TimeToLiveSpecification != nil {
		if t.TimeToLiveSpecification.AttributeName == "" {
			return nil, fmt.Errorf("TimeToLiveSpecification: no AttributeName")
		}
		spec.TTL = &TTL{AttributeName: t.TimeToLiveSpecification.AttributeName, Enabled: bool(t.TimeToLiveSpecification.Enabled)}
	}
	return spec, nil
}

func decodeKey(ks []cfnKeyElement) (Key, error) {
	var k Key
	switch {
	case len(ks) == 1 && ks[0].KeyType == "HASH":
		k.Hash = ks[0].AttributeName
	case len(ks) == 2 && ks[0].KeyType == "HASH" && ks[1].KeyType == "RANGE":
		k.Hash, k.Range = ks[0].AttributeName, ks[1].AttributeName
	default:
		return Key{}, fmt.Errorf("want a HASH key, optionally followed by a RANGE key; got %+v", ks)
	}
	if k.Hash == "" || (len(ks) == 2 && k.Range == "") {
		return Key{}, fmt.Errorf("a key element has no AttributeName")
	}
	return k, nil
}

func (t *cfnThroughput) spec() *Throughput {
	if t == nil {
		return nil
	}
	return &Throughput{Read: int64(t.ReadCapacityUnits), Write: int64(t.WriteCapacityUnits)}
}

// flexBool accepts a JSON boolean or the strings "true" and "false", as
// CloudFormation does.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean: %q", s)
		}
		*b = flexBool(v)
		return nil
	}
	var v bool
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("not a boolean: %s", data)
	}
	*b = flexBool(v)
	return nil
}

// flexInt accepts a JSON integer or a string holding one, as CloudFormation does.
type flexInt int64

func (n *flexInt) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		data = []byte(s)
	}
	v, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", data)
	}
	*n = flexInt(v)
	return nil
}
