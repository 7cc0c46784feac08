package catalog

import (
	"encoding/json"
	"errors"
	"testing"
)

// validator decodes one record type from JSON and validates it.
type validator struct {
	name  string
	valid func() any // a valid record, for the seed corpus
	check func([]byte) (bool, error)
}

func decodeAndValidate[T any](validate func(*T) error) func([]byte) (bool, error) {
	return func(b []byte) (bool, error) {
		var r T
		if json.Unmarshal(b, &r) != nil {
			return false, nil
		}
		return true, validate(&r)
	}
}

var validators = []validator{
	{"SITE", func() any { return validSite() }, decodeAndValidate((*Site).Validate)},
	{"DATASTORE", func() any { return validDataStore() }, decodeAndValidate((*DataStore).Validate)},
	{"VOLUMEGROUP", func() any { return validVolumeGroup() }, decodeAndValidate((*VolumeGroup).Validate)},
	{"VOLUME", func() any { return validVolume() }, decodeAndValidate((*Volume).Validate)},
	{"POOL", func() any { return validPool() }, decodeAndValidate((*Pool).Validate)},
	{"TAPEVOLUME", func() any { return validTapeVolume() }, decodeAndValidate((*TapeVolume).Validate)},
	{"VTOFC", func() any { return validVolumeFilecat() }, decodeAndValidate((*VolumeFilecat).Validate)},
	{"CONFIG", func() any { return validFileConfig() }, decodeAndValidate((*FileConfig).Validate)},
	{"TAPEFILE", func() any { return validTapeFile() }, decodeAndValidate((*TapeFile).Validate)},
	{"TFTOV", func() any { return validTapeFileVolume() }, decodeAndValidate((*TapeFileVolume).Validate)},
	{"DISKFILE", func() any { return validDiskFile() }, decodeAndValidate((*DiskFile).Validate)},
	{"DFTOV", func() any { return validDiskFileVolume() }, decodeAndValidate((*DiskFileVolume).Validate)},
}

// FuzzRecord validates arbitrary records of every type, as a hostile
// snapshot could carry them: validation never panics, and every refusal is
// a *FieldError naming the record and the field.
func FuzzRecord(f *testing.F) {
	for i, v := range validators {
		b, err := json.Marshal(v.valid())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	for _, s := range []string{`{}`, `{"Label":"\u0000\u00ff","LabelType":"LABELED"}`, `{"Node":"\\","SearchList":["\\X.","\\.Y"]}`,
		`{"Name":"\\PRIM.$A.B.C.D.E","TimeDumped":"0001-01-01T00:00:00Z"}`, `{"Generation":-1,"Version":101,"LogicalCopy":3}`,
		`{"Created":"9999-12-31T23:59:59+14:00","Expiration":"0001-01-01T00:00:00-12:00"}`, `{"VolIndex":32768,"VolsetID":"ABCDEFG"}`} {
		for i := range validators {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		v := validators[int(which)%len(validators)]
		decoded, err := v.check(b)
		if !decoded || err == nil {
			return
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Record != v.name || fe.Field == "" || fe.Reason == "" || err.Error() == "" {
			t.Fatalf("%s: refusal %v (%T) does not name the record and the field", v.name, err, err)
		}
	})
}
