package main

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/catsync/catsync/internal/audit"
	"github.com/catsync/catsync/internal/importer"
	"github.com/catsync/catsync/internal/inspect"
	"github.com/catsync/catsync/internal/keys/parity"
	"github.com/catsync/catsync/internal/restore"
	"github.com/catsync/catsync/internal/safety"
	"github.com/catsync/catsync/internal/schedule"
)

// cliJSONDoc is the contract of the --json outputs.
const cliJSONDoc = "../docs/cli-json.md"

// jsonShapes are the objects docs/cli-json.md describes, by the name it
// gives them, and the types the commands encode.
var jsonShapes = map[string]reflect.Type{
	"Conflict":        reflect.TypeFor[safety.Conflict](),
	"Where":           reflect.TypeFor[safety.Where](),
	"Problem":         reflect.TypeFor[safety.Problem](),
	"Drift":           reflect.TypeFor[importer.Drift](),
	"ConflictReport":  reflect.TypeFor[safety.Report](),
	"ParityReport":    reflect.TypeFor[parity.Report](),
	"Finding":         reflect.TypeFor[parity.Finding](),
	"ConflictsOutput": reflect.TypeFor[runReport[safety.Report]](),
	"KeysOutput":      reflect.TypeFor[runReport[parity.Report]](),
	"AuditRecord":     reflect.TypeFor[auditRecord](),
	"AuditEntry":      reflect.TypeFor[audit.Entry](),
	"Counts":          reflect.TypeFor[countsReport](),
	"StoreCounts":     reflect.TypeFor[inspect.StoreCounts](),
	"RestoreReport":   reflect.TypeFor[restore.Report](),
	"Verdict":         reflect.TypeFor[restore.Verdict](),
	"ScheduleSummary": reflect.TypeFor[schedule.Summary](),
	"Schedule":        reflect.TypeFor[scheduleView](),
	"ScheduledStart":  reflect.TypeFor[scheduledStart](),
}

// jsonCommands are the commands with --json and the objects they print.
var jsonCommands = map[string][]string{
	"check":             {"Conflict", "Problem"},
	"verify":            {"Drift"},
	"parity":            {"ParityReport"},
	"conflicts":         {"ConflictsOutput"},
	"keys":              {"KeysOutput"},
	"audit":             {"AuditRecord"},
	"audit list":        {"AuditRecord"},
	"audit show":        {"AuditRecord"},
	"counts":            {"Counts"},
	"restore-test":      {"RestoreReport"},
	"schedule list":     {"ScheduleSummary"},
	"schedule describe": {"Schedule"},
}

// docTables reads the document's tables: the commands table (command name
// to its "prints" cell) and each object's fields (name to type).
func docTables(t *testing.T) (commands map[string]string, objects map[string]map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(cliJSONDoc)
	if err != nil {
		t.Fatal(err)
	}
	commands, objects = map[string]string{}, map[string]map[string]string{}
	var object string // the object whose table comes next
	header := ""
	for line := range strings.SplitSeq(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "### "):
			object, header = strings.Trim(strings.TrimPrefix(line, "### "), "`"), ""
		case strings.HasPrefix(line, "## "):
			object, header = "", ""
		case strings.HasPrefix(line, "|"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			if header == "" {
				header = strings.Join(cells, "|")
				continue
			}
			if strings.HasPrefix(cells[0], "---") {
				continue
			}
			switch {
			case header == "command|`--json` prints|exit 0|exit 1":
				commands[commandName(cells[0])] = cells[1]
			case header == "field|type|meaning" && object != "":
				if objects[object] == nil {
					objects[object] = map[string]string{}
				}
				objects[object][strings.Trim(cells[0], "`")] = strings.ReplaceAll(cells[1], "`", "")
			default:
				t.Errorf("%s: a table %q outside the commands table and the objects' tables", cliJSONDoc, header)
			}
		default:
			header = ""
		}
	}
	return commands, objects
}

// commandName is the command of a commands table cell, its words before
// the flags and arguments: "audit list" of `audit list --store ID`.
func commandName(cell string) string {
	var words []string
	for _, w := range strings.Fields(strings.Trim(cell, "`")) {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") || strings.ToLower(w) != w {
			break
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// jsonType names the JSON type of a Go type as the document does.
func jsonType(t *testing.T, typ reflect.Type) string {
	names := map[reflect.Type]string{}
	for name, st := range jsonShapes {
		names[st] = name
	}
	var describe func(reflect.Type) string
	describe = func(typ reflect.Type) string {
		if typ == reflect.TypeFor[time.Time]() {
			return "timestamp"
		}
		switch typ.Kind() {
		case reflect.String:
			return "string"
		case reflect.Int, reflect.Int32, reflect.Int64:
			return "integer"
		case reflect.Bool:
			return "boolean"
		case reflect.Float64:
			return "number"
		case reflect.Pointer:
			return describe(typ.Elem())
		case reflect.Slice:
			return "array of " + describe(typ.Elem())
		case reflect.Map:
			if typ.Key().Kind() == reflect.String {
				return "map of string to " + describe(typ.Elem())
			}
		case reflect.Struct:
			if name, ok := names[typ]; ok {
				return name
			}
		}
		t.Errorf("%s is encoded, but no object of %s describes it", typ, cliJSONDoc)
		return typ.String()
	}
	return describe(typ)
}

// jsonFields lists the fields encoding/json writes for a struct type.
func jsonFields(t *testing.T, typ reflect.Type) map[string]string {
	out := map[string]string{}
	for f := range typ.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			t.Errorf("%s embeds %s: list its fields in the document", typ, f.Type)
			continue
		}
		if name == "" {
			t.Errorf("%s.%s has no JSON name: give it a json tag", typ, f.Name)
			name = f.Name
		}
		desc := jsonType(t, f.Type)
		if slices.Contains(strings.Split(opts, ","), "omitempty") {
			desc += " (optional)"
		}
		out[name] = desc
	}
	return out
}

// TestCLIJSONDoc keeps docs/cli-json.md and the encoded types together:
// every command with --json is listed with the objects it prints, and
// every object's fields are documented with their types, both ways.
func TestCLIJSONDoc(t *testing.T) {
	commands, objects := docTables(t)

	var withJSON []string
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		if cmd.Flags().Lookup("json") != nil {
			withJSON = append(withJSON, strings.TrimPrefix(cmd.CommandPath(), "catsync "))
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(nil, nil))
	slices.Sort(withJSON)
	if documented := slices.Sorted(maps.Keys(commands)); !slices.Equal(withJSON, documented) {
		t.Errorf("commands with --json %v, documented %v", withJSON, documented)
	}
	if listed := slices.Sorted(maps.Keys(jsonCommands)); !slices.Equal(withJSON, listed) {
		t.Errorf("commands with --json %v, jsonCommands lists %v", withJSON, listed)
	}
	for cmd, shapes := range jsonCommands {
		for _, s := range shapes {
			if !strings.Contains(commands[cmd], "`"+s+"`") {
				t.Errorf("%s: the document's row %q does not name the object %s", cmd, commands[cmd], s)
			}
		}
	}

	if shapes, documented := slices.Sorted(maps.Keys(jsonShapes)), slices.Sorted(maps.Keys(objects)); !slices.Equal(shapes, documented) {
		t.Errorf("objects encoded %v, documented %v", shapes, documented)
	}
	for name, typ := range jsonShapes {
		got, doc := jsonFields(t, typ), objects[name]
		for field, desc := range got {
			if doc[field] != desc {
				t.Errorf("%s.%s is encoded as %q, documented as %q", name, field, desc, doc[field])
			}
		}
		for field := range doc {
			if _, ok := got[field]; !ok {
				t.Errorf("%s.%s is documented but not encoded", name, field)
			}
		}
	}
}

// jsonLines decodes the JSON values of out, one a line, each as a T,
// refusing fields T lacks: the tests read every --json output so, and
// TestCLIJSONDoc ties T to the document.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	if out == "" {
		return nil
	}
	var all []T
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var v T
		if err := dec.Decode(&v); err != nil {
			t.Errorf("line %q is not a %T: %v", line, v, err)
			continue
		}
		all = append(all, v)
	}
	return all
}

// jsonValue decodes out, one JSON value (on one line or indented), as a T,
// refusing fields T lacks.
func jsonValue[T any](t *testing.T, out string) T {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var v T
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%q is not a %T: %v", out, v, err)
	}
	if dec.More() {
		t.Errorf("more than one %T in %q", v, out)
	}
	return v
}
