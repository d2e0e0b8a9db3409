package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

const (
	// Region is the region the clients of this package use. DynamoDB Local
	// accepts any; with -sharedDb it does not matter.
	Region = "eu-west-3"
	// AccessKey is the static access key and secret of those clients
	// (DynamoDB Local refuses keys with '-' or '_').
	AccessKey = "local"

	// StartTimeout bounds how long [Start] waits for the server to answer.
	StartTimeout = 30 * time.Second
)

// Client returns a DynamoDB client for a local endpoint such as
// "http://127.0.0.1:8000", with static credentials and region [Region].
// optFns adjust the client's options, as in dynamodb.New.
func Client(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		BaseEndpoint: aws.String(endpoint),
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, AccessKey, ""),
	}, optFns...)
}

// Server is a running DynamoDB Local process.
type Server struct {
	cmd      *exec.Cmd
	endpoint string
	output   *tailBuffer
	started  time.Duration

	exited  chan struct{} // closed when the process has exited
	waitErr error         // cmd.Wait's result, set before exited is closed
	stop    sync.Once
}

// Endpoint returns the server's URL, http://127.0.0.1:<port>.
func (s *Server) Endpoint() string { return s.endpoint }

// StartupTime is how long the server took from launch to its first answer.
func (s *Server) StartupTime() time.Duration { return s.started }

// Output returns the last lines the server printed.
func (s *Server) Output() string { return s.output.String() }

// Stop kills the server (and its process group) and waits for it to exit.
// It is safe to call more than once.
func (s *Server) Stop() {
	s.stop.Do(func() {
		select {
		case <-s.exited: // already gone (and reaped: its pid may be reused)
		default:
			killProcess(s.cmd)
			<-s.exited
		}
	})
}

// errPortTaken marks a start that lost its port to another process.
var errPortTaken = errors.New("port already in use")

// Start launches DynamoDB Local from emulatorDir (as returned by [Install]),
// in memory, with -sharedDb, on a free port, and waits up to [StartTimeout]
// until it answers a ListTables call. ctx bounds the start only; the server
// runs until [Server.Stop].
func Start(ctx context.Context, emulatorDir string) (*Server, error) {
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("dynamolocal: java is needed to run DynamoDB Local: %w", err)
	}
	if !installed(emulatorDir) {
		return nil, fmt.Errorf("dynamolocal: no %s in %s", JarName, emulatorDir)
	}
	// Between closing the probe listener and the JVM binding the port,
	// another process may take it: try again on another port.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, fmt.Errorf("dynamolocal: finding a free port: %w", err)
		}
		s, err := start(ctx, java, emulatorDir, port)
		if errors.Is(err, errPortTaken) && attempt < 3 {
			continue
		}
		return s, err
	}
}

func start(ctx context.Context, java, dir string, port int) (*Server, error) {
	begin := time.Now()
	cmd := exec.Command(java,
		"-Djava.library.path="+filepath.Join(dir, LibDir),
		"-jar", filepath.Join(dir, JarName),
		"-inMemory", "-sharedDb",
		"-port", strconv.Itoa(port),
		"-disableTelemetry",
	)
	cmd.Dir = dir
	out := &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	configureProcess(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dynamolocal: starting java: %w", err)
	}
	s := &Server{
		cmd:      cmd,
		endpoint: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		output:   out,
		exited:   make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	probe := Client(s.endpoint, func(o *dynamodb.Options) { o.Retryer = aws.NopRetryer{} })
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.exited:
			err := fmt.Errorf("dynamolocal: DynamoDB Local exited during startup (%v):\n%s", s.waitErr, out.String())
			if strings.Contains(out.String(), "Address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return nil, err
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("dynamolocal: DynamoDB Local did not answer on %s within %v: %w\n%s", s.endpoint, StartTimeout, ctx.Err(), out.String())
		case <-tick.C:
			if answers(ctx, probe, port) {
				s.started = time.Since(begin)
				return s, nil
			}
		}
	}
}

// answers reports whether the server accepts a connection and then answers
// a ListTables call.
func answers(ctx context.Context, probe *dynamodb.Client, port int) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err = probe.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
	return err == nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
