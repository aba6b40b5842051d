// apiproxy.go — a TLS reverse proxy in front of the API server that records
// every request the controller makes, classified the way the API server's
// own audit does (list, watch, get, create, patch, ... of a resource).
//
// The controller's leakwatch_api_requests_total labels requests by HTTP
// method, where a LIST and a GET are both "GET"; the benchmark has to tell
// them apart to show that no LIST repeats after the initial sync.  The
// proxy authenticates upstream with the kubeconfig's own credentials; the
// controller talks TLS to it (a self-signed certificate written into the
// kubeconfig the proxy emits) without credentials.
//
// Not for: anything but the local benchmark cluster; it trusts every caller.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// kubeconfigJSON is the part of `kubectl config view --raw --minify
// --flatten -o json` the proxy needs.
type kubeconfigJSON struct {
	Clusters []struct {
		Cluster struct {
			Server   string `json:"server"`
			CAData   string `json:"certificate-authority-data"`
			Insecure bool   `json:"insecure-skip-tls-verify"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		User struct {
			CertData string `json:"client-certificate-data"`
			KeyData  string `json:"client-key-data"`
			Token    string `json:"token"`
		} `json:"user"`
	} `json:"users"`
}

type apiCall struct {
	ms       int64
	verb     string
	resource string
	path     string
	code     int
}

type apiProxy struct {
	upstream *url.URL
	token    string
	// watchCap, when > 0, caps the timeoutSeconds of every watch: the API
	// server then ends watches that often, as it does at the client's own
	// timeout, so a short benchmark sees the controller resume watches.
	watchCap int
	proxy    *httputil.ReverseProxy
	mu       sync.Mutex
	calls    []apiCall
	caPEM    []byte
	cert     tls.Certificate
}

func b64(field, v string) ([]byte, error) {
	d, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", field, err)
	}
	return d, nil
}

func newAPIProxy(kubeconfigPath string, watchCap int) (*apiProxy, error) {
	raw, err := os.ReadFile(kubeconfigPath)
	if err != nil {
		return nil, err
	}
	var kc kubeconfigJSON
	if err := json.Unmarshal(raw, &kc); err != nil {
		return nil, fmt.Errorf("%s: not kubeconfig JSON (kubectl config view --raw --minify --flatten -o json): %v", kubeconfigPath, err)
	}
	if len(kc.Clusters) != 1 || len(kc.Users) != 1 {
		return nil, fmt.Errorf("%s: want exactly one cluster and one user (use --minify)", kubeconfigPath)
	}
	cl, us := kc.Clusters[0].Cluster, kc.Users[0].User
	up, err := url.Parse(cl.Server)
	if err != nil || up.Scheme != "https" || up.Host == "" {
		return nil, fmt.Errorf("%s: server %q is not an https URL", kubeconfigPath, cl.Server)
	}
	if h := up.Hostname(); h != "localhost" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("%s: server %q is not on loopback; the proxy is for the local cluster only", kubeconfigPath, cl.Server)
		}
	}
	tc := &tls.Config{InsecureSkipVerify: cl.Insecure}
	if cl.CAData != "" {
		ca, err := b64(kubeconfigPath+": certificate-authority-data", cl.CAData)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("%s: certificate-authority-data holds no PEM certificate", kubeconfigPath)
		}
		tc.RootCAs = pool
	}
	if us.CertData != "" {
		c, err := b64(kubeconfigPath+": client-certificate-data", us.CertData)
		if err != nil {
			return nil, err
		}
		k, err := b64(kubeconfigPath+": client-key-data", us.KeyData)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(c, k)
		if err != nil {
			return nil, fmt.Errorf("%s: client certificate: %v", kubeconfigPath, err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	p := &apiProxy{upstream: up, token: us.Token, watchCap: watchCap}
	tr := &http.Transport{
		TLSClientConfig:     tc,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		// HTTP/1.1 upstream: the proxy hands upgraded (port-forward)
		// connections through only on HTTP/1.1.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(up)
			if p.watchCap > 0 {
				capWatch(pr.Out.URL, p.watchCap)
			}
			pr.Out.Host = up.Host
			pr.Out.Header.Del("Authorization")
			if p.token != "" {
				pr.Out.Header.Set("Authorization", "Bearer "+p.token)
			}
		},
		Transport:     tr,
		FlushInterval: -1, // watches stream
	}
	if err := p.makeCert(); err != nil {
		return nil, err
	}
	return p, nil
}

// makeCert creates the proxy's self-signed serving certificate.
func (p *apiProxy) makeCert() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "leakwatch-bench-apiproxy"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	p.cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return nil
}

// capWatch lowers a watch request's timeoutSeconds to at most limit.
func capWatch(u *url.URL, limit int) {
	q := u.Query()
	if w := q.Get("watch"); w != "1" && w != "true" {
		return
	}
	if t, err := strconv.Atoi(q.Get("timeoutSeconds")); err == nil && t > 0 && t <= limit {
		return
	}
	q.Set("timeoutSeconds", strconv.Itoa(limit))
	u.RawQuery = q.Encode()
}

// classify names a request as the API server's audit log would: verb and
// resource (with subresource), or the non-resource path.
func classify(method string, u *url.URL) (verb, resource string) {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	var rest []string
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		rest = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		rest = parts[3:]
	default:
		return strings.ToLower(method), "nonresource:" + u.Path
	}
	if len(rest) == 0 {
		return strings.ToLower(method), "nonresource:" + u.Path
	}
	if rest[0] == "namespaces" && len(rest) >= 3 {
		rest = rest[2:]
	}
	resource = rest[0]
	if len(parts) >= 3 && parts[0] == "apis" {
		resource += "." + parts[1]
	}
	named := len(rest) >= 2
	if len(rest) >= 3 {
		resource += "/" + rest[2]
	}
	q := u.Query()
	switch method {
	case http.MethodGet, http.MethodHead:
		switch {
		case q.Get("watch") == "1" || q.Get("watch") == "true":
			verb = "watch"
		case !named:
			verb = "list"
		default:
			verb = "get"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
		if !named {
			verb = "deletecollection"
		}
	default:
		verb = strings.ToLower(method)
	}
	return verb, resource
}

type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(c int) {
	if w.code == 0 {
		w.code = c
	}
	w.ResponseWriter.WriteHeader(c)
}

func (w *codeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets ReverseProxy reach the underlying writer (upgrades, flushes).
func (w *codeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (p *apiProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	verb, res := classify(r.Method, r.URL)
	p.mu.Lock()
	i := len(p.calls)
	p.calls = append(p.calls, apiCall{ms: time.Now().UnixMilli(), verb: verb, resource: res,
		path: r.URL.RequestURI()})
	p.mu.Unlock()
	cw := &codeWriter{ResponseWriter: w}
	p.proxy.ServeHTTP(cw, r)
	code := cw.code
	if code == 0 {
		code = http.StatusOK
	}
	p.mu.Lock()
	p.calls[i].code = code
	p.mu.Unlock()
}

// writeKubeconfig writes a kubeconfig that points at the proxy.
func (p *apiProxy) writeKubeconfig(path, addr string) error {
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: bench-apiproxy
  cluster:
    server: https://%s
    certificate-authority-data: %s
users:
- name: bench-apiproxy
  user: {}
contexts:
- name: bench-apiproxy
  context:
    cluster: bench-apiproxy
    user: bench-apiproxy
current-context: bench-apiproxy
`, addr, base64.StdEncoding.EncodeToString(p.caPEM))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(kc), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

type apiList struct {
	AtS  float64 `json:"at_s"` // seconds after the window's start
	Code int     `json:"code"`
	Path string  `json:"path"`
}

type apiStats struct {
	Requests      map[string]int `json:"requests"`       // "verb resource" in the window
	ByVerb        map[string]int `json:"by_verb"`        // verb in the window
	Codes         map[string]int `json:"codes"`          // HTTP code in the window
	RequestsTotal int            `json:"requests_total"` // all time
	ListsTotal    int            `json:"lists_total"`
	Lists         []apiList      `json:"lists"` // every list in the window
}

func (p *apiProxy) stats(from, to int64) apiStats {
	st := apiStats{Requests: map[string]int{}, ByVerb: map[string]int{}, Codes: map[string]int{},
		Lists: []apiList{}}
	p.mu.Lock()
	defer p.mu.Unlock()
	st.RequestsTotal = len(p.calls)
	for _, c := range p.calls {
		if c.verb == "list" {
			st.ListsTotal++
		}
		if c.ms < from || c.ms > to {
			continue
		}
		st.Requests[c.verb+" "+c.resource]++
		st.ByVerb[c.verb]++
		st.Codes[fmt.Sprint(c.code)]++
		if c.verb == "list" {
			st.Lists = append(st.Lists, apiList{AtS: float64(c.ms-from) / 1000, Code: c.code, Path: c.path})
		}
	}
	sort.Slice(st.Lists, func(i, j int) bool { return st.Lists[i].AtS < st.Lists[j].AtS })
	return st
}
