package codec

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/workflow"
)

// Propagators wrap context propagators so that the headers they write are
// sealed too: the SDK passes headers to the server as they are, and a
// propagator may carry a store id.
func Propagators(c *Codec, ps []workflow.ContextPropagator) []workflow.ContextPropagator {
	out := make([]workflow.ContextPropagator, len(ps))
	for i, p := range ps {
		out[i] = propagator{c, p}
	}
	return out
}

type propagator struct {
	c     *Codec
	inner workflow.ContextPropagator
}

// sealer seals each header the inner propagator sets, keeping the first
// error for Inject to return.
type sealer struct {
	c   *Codec
	w   workflow.HeaderWriter
	err error
}

func (s *sealer) Set(key string, p *commonpb.Payload) {
	enc, err := s.c.Encode([]*commonpb.Payload{p})
	if err != nil {
		s.err = err
		return
	}
	s.w.Set(key, enc[0])
}

// opened is the headers, opened before the inner propagator reads them.
type opened map[string]*commonpb.Payload

func (o opened) Get(key string) (*commonpb.Payload, bool) { p, ok := o[key]; return p, ok }

func (o opened) ForEachKey(handler func(string, *commonpb.Payload) error) error {
	for k, p := range o {
		if err := handler(k, p); err != nil {
			return err
		}
	}
	return nil
}

func (p propagator) open(r workflow.HeaderReader) (opened, error) {
	o := opened{}
	err := r.ForEachKey(func(k string, v *commonpb.Payload) error {
		dec, err := p.c.Decode([]*commonpb.Payload{v})
		if err != nil {
			return err
		}
		o[k] = dec[0]
		return nil
	})
	return o, err
}

func (p propagator) Inject(ctx context.Context, w workflow.HeaderWriter) error {
	s := &sealer{c: p.c, w: w}
	if err := p.inner.Inject(ctx, s); err != nil {
		return err
	}
	return s.err
}

func (p propagator) InjectFromWorkflow(ctx workflow.Context, w workflow.HeaderWriter) error {
	s := &sealer{c: p.c, w: w}
	if err := p.inner.InjectFromWorkflow(ctx, s); err != nil {
		return err
	}
	return s.err
}

func (p propagator) Extract(ctx context.Context, r workflow.HeaderReader) (context.Context, error) {
	o, err := p.open(r)
	if err != nil {
		return ctx, err
	}
	return p.inner.Extract(ctx, o)
}

func (p propagator) ExtractToWorkflow(ctx workflow.Context, r workflow.HeaderReader) (workflow.Context, error) {
	o, err := p.open(r)
	if err != nil {
		return ctx, err
	}
	return p.inner.ExtractToWorkflow(ctx, o)
}
