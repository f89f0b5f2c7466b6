/**
 * The wire protocol: little-endian flyweights over Agrona buffers, one class per frame type, each with its diagram.
 * Every frame starts with {@link io.pagestream.protocol.FrameFlyweight}'s common header.
 */
package io.pagestream.protocol;
