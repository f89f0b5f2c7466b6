/**
 * The floor both sides stand on: bitmaps of pages, the present-page map readable from any thread, the assembly of
 * page-map chunks, and how pages are partitioned between data lanes.
 */
package io.pagestream.pages;
