package io.zapi.sendcall.pipeline;

import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;

/**
 * How an input takes the pipeline's answer back: inputs hand a request to direct:send-call with {@code enrich}, so the
 * pipeline runs on a copy of the exchange and an error it turns into a record stays there, instead of ending the
 * input's route (Camel stops a route whose sub-route handled an error). The copy's record (the body) and what the
 * pipeline found out (its properties: outcome, correlationId...) come back to the input, which goes on with its own
 * steps: the HTTP status, the JMS reply, the file's tally. An error the pipeline did not handle is not aggregated:
 * enrich hands it to the input's error handling as it is.
 */
public class PipelineResult implements AggregationStrategy {

    @Override
    public Exchange aggregate(Exchange request, Exchange pipeline) {
        request.getMessage().setBody(pipeline.getMessage().getBody());
        request.getProperties().putAll(pipeline.getProperties());
        return request;
    }
}
