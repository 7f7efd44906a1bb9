package pmdtest

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// Telemetry connects to a DPDK telemetry socket (EAL.TelemetrySocket, or
// /var/run/dpdk/<file prefix>/dpdk_telemetry.v2), sends each request
// ("/cmd" or "/cmd,params") and returns the raw JSON replies in order, as
// dpdk-telemetry.py does: SOCK_SEQPACKET, one message per request and per
// reply, after the library's greeting.
func Telemetry(path string, requests ...string) ([]string, error) {
	c, err := dialTelemetry(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		return nil, err
	}
	buf := make([]byte, 64*1024)
	if _, err := c.Read(buf); err != nil {
		return nil, fmt.Errorf("telemetry %s: greeting: %w", path, err)
	}
	var out []string
	for _, r := range requests {
		if _, err := c.Write([]byte(r)); err != nil {
			return out, fmt.Errorf("telemetry %s: send %q: %w", path, r, err)
		}
		n, err := c.Read(buf)
		if err != nil {
			return out, fmt.Errorf("telemetry %s: reply to %q: %w", path, r, err)
		}
		out = append(out, string(buf[:n]))
	}
	return out, nil
}

// dialTelemetry connects, retrying while the library's backlog of one
// pending connection is full (a blocking connect, as the Python client
// makes, would wait there).
func dialTelemetry(path string) (*net.UnixConn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialUnix("unixpacket", nil, &net.UnixAddr{Name: path, Net: "unixpacket"})
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, syscall.EAGAIN) || time.Now().After(deadline) {
			return nil, fmt.Errorf("telemetry socket: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
