package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/catsync/catsync/internal/codec"
)

func TestCodecServer(t *testing.T) {
	pc, err := codec.New([]codec.Key{{ID: "k1", Key: bytes.Repeat([]byte{7}, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	const ui = "https://ui.example"
	srv := httptest.NewServer(codecHandler(pc, []string{"ops-token", "other"}, ui+"/"))
	defer srv.Close()

	clear, _ := converter.GetDefaultDataConverter().ToPayload("VOLUME-LABEL-X")
	sealed, err := pc.Encode([]*commonpb.Payload{clear})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
	post := func(auth, origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/codec/decode", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Namespace", "default")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	resp := post("Bearer ops-token", ui)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != ui {
		t.Fatalf("authorized decode: %s, allow-origin %q", resp.Status, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	var raw json.RawMessage
	json.NewDecoder(resp.Body).Decode(&raw)
	var out commonpb.Payloads
	if err := protojson.Unmarshal(raw, &out); err != nil || len(out.Payloads) != 1 {
		t.Fatalf("decoded body %s: %v", raw, err)
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &s); err != nil || s != "VOLUME-LABEL-X" {
		t.Fatalf("decoded %q, %v", s, err)
	}

	for _, c := range []struct {
		name, auth, origin string
		want               int
	}{
		{"no token", "", ui, http.StatusUnauthorized},
		{"not bearer", "Basic b3BzOnRva2Vu", "", http.StatusUnauthorized},
		{"wrong token", "Bearer ops-token2", ui, http.StatusForbidden},
		{"other origin", "Bearer ops-token", "https://evil.example", http.StatusForbidden},
	} {
		resp := post(c.auth, c.origin)
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		if resp.StatusCode != c.want || strings.Contains(b.String(), "VOLUME-LABEL-X") || strings.Contains(b.String(), "Vk9MVU1FLUxBQkVMLVgi") {
			t.Errorf("%s: %s %q, want %d and no decoded data", c.name, resp.Status, b.String(), c.want)
		}
	}

	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp = preflight(ui)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != ui ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Namespace") {
		t.Errorf("preflight from the UI: %s %v", resp.Status, resp.Header)
	}
	if resp = preflight("https://evil.example"); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %s %v", resp.Status, resp.Header)
	}
}
