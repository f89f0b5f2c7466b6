/** Shared JMH settings for the benchmarks. */
package io.pagestream.bench;
