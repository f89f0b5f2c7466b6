package io.pagestream.snapshot;

/**
 * What a restore did.
 *
 * @param layers           files applied: 1 for a full snapshot, more for a chain.
 * @param dataPages        pages whose bytes were read, checked against their checksum and installed.
 * @param zeroPages        pages defined as zero (written as zero only where the memory might not already be).
 * @param bytesRead        page bytes read from the files.
 * @param deviceStateBytes device state handed to the device, from the newest file.
 * @param timeMs           from the first file opened to the device state restored.
 */
public record RestoreReport(
    int layers, long dataPages, long zeroPages, long bytesRead, int deviceStateBytes, long timeMs)
{
}
