package deploytest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/catsync/catsync/internal/config"
	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// workers are catsync's three worker processes, by environment file.
var workers = []string{"primary", "secondary", "workflows"}

// siteWorkers are those with a catalog, hence secrets.
var siteWorkers = []string{"primary", "secondary"}

// siteSecrets are a site worker's secrets (secret.env.example).
func siteSecrets(t *testing.T) []string {
	return readEnv(t, filepath.Join(repo(t), "deploy", "env", "secret.env.example")).names
}

// secretNames are the variables that are never in an environment file,
// a compose file or a ConfigMap: a site's, and the Temporal server's
// database password.
func secretNames(t *testing.T) []string {
	return append(siteSecrets(t), "POSTGRES_PWD")
}

// envPaths are the values of e that name a file or folder: where the
// process expects them.
func envPaths(e *envFile) map[string]string {
	out := map[string]string{}
	for _, k := range e.names {
		if p, ok := strings.CutPrefix(e.vals[k], "keystore:"); ok || strings.HasPrefix(p, "/") {
			out[k] = p
		}
	}
	return out
}

// metricsPort is the port of a worker's CATSYNC_METRICS_ADDRESS.
func metricsPort(t *testing.T, e *envFile) int {
	t.Helper()
	_, port, err := net.SplitHostPort(e.vals["CATSYNC_METRICS_ADDRESS"])
	n, perr := strconv.Atoi(port)
	if err != nil || perr != nil {
		t.Fatalf("%s: CATSYNC_METRICS_ADDRESS=%q: want HOST:PORT", e.path, e.vals["CATSYNC_METRICS_ADDRESS"])
	}
	return n
}

// realLooking reports whether v looks like key material rather than a
// placeholder: PEM, or 32 bytes in base64 (a keystore's master key).
func realLooking(v string) bool {
	if strings.Contains(v, "-----BEGIN") {
		return true
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	return err == nil && len(b) == 32
}

// under reports whether path is dir or lies below it.
func under(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// --- compose

func loadCompose(t *testing.T, resolve bool) *types.Project {
	t.Helper()
	deploy := filepath.Join(repo(t), "deploy")
	opts := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(deploy), cli.WithInterpolation(true)}
	if !resolve {
		opts = append(opts, cli.WithoutEnvironmentResolution)
	}
	// No cli.WithOsEnv: the file must stand on its defaults, whatever the
	// shell running the test has set.
	o, err := cli.NewProjectOptions([]string{filepath.Join(deploy, "compose.yaml")}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cli.ProjectFromOptions(context.Background(), o)
	if err != nil {
		t.Fatalf("deploy/compose.yaml: %v", err)
	}
	return p
}

func TestCompose(t *testing.T) {
	p := loadCompose(t, true)
	for _, want := range []string{"temporal", "temporal-ui", "temporal-schema", "catsync-setup", "catsync-primary", "catsync-secondary", "catsync-workflows"} {
		if _, ok := p.Services[want]; !ok {
			t.Errorf("deploy/compose.yaml has no service %s", want)
		}
	}
	envDir := filepath.Join(repo(t), "deploy", "env")
	for name, s := range p.Services {
		if len(s.EnvFiles) == 0 {
			t.Errorf("service %s: no env_file: its settings belong in deploy/env", name)
		}
		for _, f := range s.EnvFiles {
			if !under(f.Path, envDir) {
				t.Errorf("service %s: env_file %s is not in deploy/env", name, f.Path)
			}
			if _, err := os.Stat(f.Path); err != nil {
				if f.Required {
					t.Errorf("service %s: env_file: %v", name, err)
				} else if !strings.HasSuffix(f.Path, ".secret.env") {
					t.Errorf("service %s: %s is optional, but only a .secret.env may be missing", name, f.Path)
				}
				continue
			}
			readEnv(t, f.Path)
		}
	}

	for _, w := range workers {
		s, ok := p.Services["catsync-"+w]
		if !ok {
			continue
		}
		e := deployEnv(t, w)
		// What compose gives the process: its env file, with the secret
		// file when there is one here, and nothing else.
		if len(s.EnvFiles) == 0 || s.EnvFiles[0].Path != e.path {
			t.Errorf("catsync-%s: the first env_file is not %s", w, e.path)
			continue
		}
		// Every worker has a secret file: the codec's keys are in it.
		secret := strings.TrimSuffix(e.path, ".env") + ".secret.env"
		if !slices.ContainsFunc(s.EnvFiles, func(f types.EnvFile) bool { return f.Path == secret }) {
			t.Errorf("catsync-%s: no env_file %s (its secrets, %s among them)", w, secret, config.CodecKeysEnv)
		}
		want := maps.Clone(e.vals)
		for _, f := range s.EnvFiles[1:] {
			if _, err := os.Stat(f.Path); err == nil {
				maps.Copy(want, readEnv(t, f.Path).vals)
			}
		}
		got := map[string]string{}
		for k, v := range s.Environment {
			if v == nil {
				t.Errorf("catsync-%s: %s has no value", w, k)
				continue
			}
			got[k] = *v
		}
		if !maps.Equal(got, want) {
			t.Errorf("catsync-%s's environment differs from %s:\n got %v\nwant %v", w, e.path, got, want)
		}
		hc := s.HealthCheck
		ready := "http://127.0.0.1:" + strconv.Itoa(metricsPort(t, e)) + "/readyz"
		if hc == nil || hc.Disable || !slices.Contains(hc.Test, ready) {
			t.Errorf("catsync-%s: want a healthcheck on %s, got %+v", w, ready, hc)
		}
		// Every file or folder the env file names is in a volume, at the
		// path the file gives; the other site's folder read-only.
		for k, path := range envPaths(e) {
			var vol *types.ServiceVolumeConfig
			for i := range s.Volumes {
				if v := &s.Volumes[i]; under(path, v.Target) && (vol == nil || len(v.Target) > len(vol.Target)) {
					vol = v
				}
			}
			switch {
			case vol == nil:
				t.Errorf("catsync-%s: %s=%s is in no volume", w, k, path)
			case strings.HasSuffix(k, "_SOURCE") || strings.HasPrefix(k, "TEMPORAL_TLS_"):
				if !vol.ReadOnly {
					t.Errorf("catsync-%s: %s is mounted read-write at %s", w, k, vol.Target)
				}
			}
		}
	}

	// Secrets come from the .secret.env files or mounted files, never
	// from the compose file itself.
	secrets := secretNames(t)
	for name, s := range loadCompose(t, false).Services {
		for k, v := range s.Environment {
			if slices.Contains(secrets, k) || (v != nil && realLooking(*v)) {
				t.Errorf("service %s: %s is set in deploy/compose.yaml: it belongs in a .secret.env file", name, k)
			}
		}
	}
}

// TestComposeStrict shows that the loader refuses what the compose
// specification does not define.
func TestComposeStrict(t *testing.T) {
	doc := "services:\n  worker:\n    image: catsync\n    enviroment:\n      A: b\n"
	_, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  t.TempDir(),
		ConfigFiles: []types.ConfigFile{{Filename: "compose.yaml", Content: []byte(doc)}},
	}, func(o *loader.Options) { o.SetProjectName("strict", true) })
	if err == nil || !strings.Contains(err.Error(), "enviroment") {
		t.Fatalf("a misspelt field: %v, want it refused", err)
	}
	t.Logf("a misspelt field: %v", err)
}

// --- Kubernetes

// k8sDecoder decodes YAML strictly into the API types of the kinds the
// manifests use: an unknown field, a field set twice, a wrong type or an
// unknown kind is an error.
func k8sDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true, Strict: true})
}

// decodeAll decodes every document of a YAML stream; documents of
// comments only are skipped.
func decodeAll(dec runtime.Decoder, data []byte) ([]runtime.Object, error) {
	var out []runtime.Object
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if j, err := yaml.YAMLToJSON(doc); err != nil {
			return nil, err
		} else if string(j) == "null" {
			continue
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
}

// manifests are deploy/kubernetes's objects, by kind and name.
type manifests struct {
	configMaps  map[string]*corev1.ConfigMap
	secrets     map[string]*corev1.Secret
	services    map[string]*corev1.Service
	deployments map[string]*appsv1.Deployment
	jobs        map[string]*batchv1.Job
	files       []string // the files, kustomization.yaml apart
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	dir := filepath.Join(repo(t), "deploy", "kubernetes")
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := &manifests{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		services: map[string]*corev1.Service{}, deployments: map[string]*appsv1.Deployment{}, jobs: map[string]*batchv1.Job{}}
	dec := k8sDecoder(t)
	for _, path := range paths {
		if filepath.Base(path) == "kustomization.yaml" {
			continue
		}
		m.files = append(m.files, filepath.Base(path))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeAll(dec, data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, obj := range objs {
			var meta interface{ GetNamespace() string }
			switch o := obj.(type) {
			case *corev1.Namespace:
				continue
			case *corev1.ConfigMap:
				m.configMaps[o.Name], meta = o, o
			case *corev1.Secret:
				m.secrets[o.Name], meta = o, o
			case *corev1.Service:
				m.services[o.Name], meta = o, o
			case *appsv1.Deployment:
				m.deployments[o.Name], meta = o, o
			case *batchv1.Job:
				m.jobs[o.Name], meta = o, o
			case *corev1.PersistentVolumeClaim:
				meta = o
			default:
				t.Fatalf("%s: a %T the test does not check", path, obj)
			}
			if ns := meta.GetNamespace(); ns != "catsync" {
				t.Errorf("%s: a %T in namespace %q, want catsync", path, obj, ns)
			}
		}
	}
	return m
}

// kustomization is what the test reads of kustomization.yaml.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// checkEnvConfigMap checks that a ConfigMap holds exactly the variables
// of an environment file that are not secrets.
func (m *manifests) checkEnvConfigMap(t *testing.T, name string, e *envFile, secrets []string) {
	t.Helper()
	cm, ok := m.configMaps[name]
	if !ok {
		t.Errorf("no ConfigMap %s for %s", name, e.path)
		return
	}
	want := maps.Clone(e.vals)
	maps.DeleteFunc(want, func(k, _ string) bool { return slices.Contains(secrets, k) })
	if !maps.Equal(cm.Data, want) {
		t.Errorf("ConfigMap %s differs from %s:\n got %v\nwant %v", name, e.path, cm.Data, want)
	}
}

// container is the one container of a pod template.
func container(t *testing.T, kind, name string, spec *corev1.PodSpec) *corev1.Container {
	t.Helper()
	if len(spec.Containers) != 1 {
		t.Fatalf("%s %s: %d containers, want 1", kind, name, len(spec.Containers))
	}
	return &spec.Containers[0]
}

// mountOf is the volume mount of c that holds path, the deepest one.
func mountOf(c *corev1.Container, path string) *corev1.VolumeMount {
	var best *corev1.VolumeMount
	for i := range c.VolumeMounts {
		if v := &c.VolumeMounts[i]; under(path, v.MountPath) && (best == nil || len(v.MountPath) > len(best.MountPath)) {
			best = v
		}
	}
	return best
}

func volume(spec *corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

// hardened reports whether a container runs as non-root on a read-only
// root filesystem, from its own or its pod's security context.
func hardened(pod *corev1.PodSpec, c *corev1.Container) bool {
	nonRoot := pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
	sc := c.SecurityContext
	if sc != nil && sc.RunAsNonRoot != nil {
		nonRoot = *sc.RunAsNonRoot
	}
	return nonRoot && sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
}

func TestKubernetes(t *testing.T) {
	m := loadManifests(t)
	secrets := secretNames(t)

	k, err := os.ReadFile(filepath.Join(repo(t), "deploy", "kubernetes", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kz kustomization
	if err := yaml.UnmarshalStrict(k, &kz); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	// Every file but the Secrets' templates, which would overwrite the
	// real ones.
	want := slices.DeleteFunc(slices.Clone(m.files), func(f string) bool { return f == "secrets.yaml" })
	if got := slices.Sorted(slices.Values(kz.Resources)); !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml lists %v, want %v", got, want)
	}

	for name, env := range map[string]string{"catsync-cli-env": "cli", "temporal-env": "temporal", "temporal-ui-env": "temporal-ui"} {
		m.checkEnvConfigMap(t, name, deployEnv(t, env), secrets)
	}
	if cm, ok := m.configMaps["temporal-config"]; !ok {
		t.Error("no ConfigMap temporal-config")
	} else {
		for key, file := range map[string]string{"config.yaml": "config.yaml", "dynamicconfig.yaml": "dynamicconfig.yaml", "production.yaml": "ui/production.yaml"} {
			data, err := os.ReadFile(filepath.Join(repo(t), "deploy", "temporal", filepath.FromSlash(file)))
			if err != nil {
				t.Fatal(err)
			}
			if cm.Data[key] != string(data) {
				t.Errorf("ConfigMap temporal-config's %s differs from deploy/temporal/%s", key, file)
			}
		}
	}
	for name, cm := range m.configMaps {
		for key, v := range cm.Data {
			if slices.Contains(secrets, key) || realLooking(v) {
				t.Errorf("ConfigMap %s holds %s: a secret belongs in a Secret", name, key)
			}
		}
	}
	for name, s := range m.secrets {
		if len(s.Data) > 0 {
			t.Errorf("Secret %s has data: the templates hold placeholders in stringData only", name)
		}
		for key, v := range s.StringData {
			if !strings.HasPrefix(v, "REPLACE-ME") || realLooking(v) {
				t.Errorf("Secret %s: %s is not a placeholder (REPLACE-ME...)", name, key)
			}
		}
	}

	for _, w := range workers {
		m.checkWorker(t, w, slices.Contains(siteWorkers, w), secrets)
	}

	tmp, ok := m.deployments["temporal"]
	if !ok {
		t.Fatal("no Deployment temporal")
	}
	if c := container(t, "Deployment", "temporal", &tmp.Spec.Template.Spec); !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.ContainerPort == 7233 }) {
		t.Error("Deployment temporal: no port 7233")
	}
	if svc, ok := m.services["temporal"]; !ok || !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == 7233 }) {
		t.Error("Service temporal: no port 7233 (the frontend)")
	}
	if _, ok := m.services["temporal-ui"]; !ok {
		t.Error("no Service temporal-ui")
	}
	for job, cmd := range map[string][]string{"temporal-schema": {"/usr/local/bin/temporal-schema"},
		"catsync-setup": {"/usr/local/bin/catsync", "setup", "--retention", "30d"}} {
		j, ok := m.jobs[job]
		if !ok {
			t.Errorf("no Job %s", job)
			continue
		}
		c := container(t, "Job", job, &j.Spec.Template.Spec)
		if got := append(slices.Clone(c.Command), c.Args...); !slices.Equal(got, cmd) {
			t.Errorf("Job %s runs %q, want %q", job, got, cmd)
		}
	}
	for name, d := range m.deployments {
		spec := &d.Spec.Template.Spec
		for i := range spec.Containers {
			if !hardened(spec, &spec.Containers[i]) {
				t.Errorf("Deployment %s: container %s is not non-root with a read-only root filesystem", name, spec.Containers[i].Name)
			}
		}
	}
}

// checkWorker checks a worker's Deployment and Service against its
// environment file.
func (m *manifests) checkWorker(t *testing.T, w string, site bool, secrets []string) {
	name := "catsync-" + w
	e := deployEnv(t, w)
	m.checkEnvConfigMap(t, name+"-env", e, secrets)
	d, ok := m.deployments[name]
	if !ok {
		t.Errorf("no Deployment %s", name)
		return
	}
	spec := &d.Spec.Template.Spec
	c := container(t, "Deployment", name, spec)
	if site && (d.Spec.Replicas == nil || *d.Spec.Replicas != 1) {
		t.Errorf("Deployment %s: a site's worker runs one replica", name)
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || *g != 60 {
		t.Errorf("Deployment %s: terminationGracePeriodSeconds %v, want 60", name, g)
	}

	var configMaps, secretRefs []string
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef != nil {
			configMaps = append(configMaps, from.ConfigMapRef.Name)
		}
		if from.SecretRef != nil {
			secretRefs = append(secretRefs, from.SecretRef.Name)
		}
	}
	if !slices.Equal(configMaps, []string{name + "-env"}) {
		t.Errorf("Deployment %s: envFrom ConfigMaps %v, want [%s-env]", name, configMaps, name)
	}
	for _, v := range c.Env {
		if slices.Contains(secrets, v.Name) && (v.ValueFrom == nil || v.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("Deployment %s: %s not from a Secret", name, v.Name)
		}
	}
	// A site's worker gets every site secret; the workflows' worker the
	// codec's keys, without which it cannot read sealed payloads.
	var got []string
	for _, ref := range secretRefs {
		if s, ok := m.secrets[ref]; ok {
			got = append(got, slices.Collect(maps.Keys(s.StringData))...)
		} else {
			t.Errorf("Deployment %s: no Secret %s", name, ref)
		}
	}
	want := []string{config.CodecKeysEnv}
	if site {
		want = siteSecrets(t)
	}
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("Deployment %s: its Secrets give %v, want %v", name, got, want)
	}

	port := metricsPort(t, e)
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "metrics" && int(p.ContainerPort) == port }) {
		t.Errorf("Deployment %s: no port metrics %d", name, port)
	}
	for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/livez", c.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != path || probe.HTTPGet.Port.String() != "metrics" {
			t.Errorf("Deployment %s: want an httpGet probe of %s on port metrics, got %+v", name, path, probe)
		}
	}

	// The paths of the env file, where the container has them: the
	// certificates from the worker's Secret, the other site's folder
	// read-only from NFS.
	for k, path := range envPaths(e) {
		mount := mountOf(c, path)
		if mount == nil {
			t.Errorf("Deployment %s: %s=%s is in no volume", name, k, path)
			continue
		}
		vol := volume(spec, mount.Name)
		switch {
		case vol == nil:
			t.Errorf("Deployment %s: no volume %s", name, mount.Name)
		case strings.HasPrefix(k, "TEMPORAL_TLS_"):
			if vol.Secret == nil || !mount.ReadOnly {
				t.Errorf("Deployment %s: %s is not in a Secret mounted read-only", name, k)
			} else if mode := vol.Secret.DefaultMode; mode == nil || *mode&0o007 != 0 {
				t.Errorf("Deployment %s: the files of Secret %s are readable by all (defaultMode)", name, vol.Secret.SecretName)
			} else if s, ok := m.secrets[vol.Secret.SecretName]; !ok || s.StringData[filepath.Base(path)] == "" {
				t.Errorf("Deployment %s: Secret %s has no %s for %s", name, vol.Secret.SecretName, filepath.Base(path), k)
			}
		case strings.HasSuffix(k, "_SOURCE"):
			if vol.NFS == nil || !vol.NFS.ReadOnly || !mount.ReadOnly || mount.MountPath != path {
				t.Errorf("Deployment %s: %s is not an NFS volume mounted read-only at %s", name, k, path)
			}
		}
	}

	svc, ok := m.services[name]
	if !ok {
		t.Errorf("no Service %s", name)
		return
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return int(p.Port) == port && p.TargetPort.String() == "metrics" }) {
		t.Errorf("Service %s: no port %d to metrics", name, port)
	}
	for k, v := range svc.Spec.Selector {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("Service %s selects %s=%s, which its pods do not carry", name, k, v)
		}
	}
	if a := svc.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != strconv.Itoa(port) {
		t.Errorf("Service %s: no prometheus.io scrape annotations for port %d", name, port)
	}
}

// TestKubernetesStrict shows that the decoder refuses a field the API
// does not have, and a value of the wrong type.
func TestKubernetesStrict(t *testing.T) {
	dec := k8sDecoder(t)
	for what, doc := range map[string]string{
		"an unknown field": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replica: 1\n",
		"a wrong type":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  A: [1]\n",
	} {
		if _, err := decodeAll(dec, []byte(doc)); err == nil {
			t.Errorf("%s: decoded, want it refused", what)
		} else {
			t.Logf("%s: %v", what, err)
		}
	}
}
