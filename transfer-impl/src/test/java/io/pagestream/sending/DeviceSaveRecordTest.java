package io.pagestream.sending;

import io.pagestream.api.guest.DeviceState;
import io.pagestream.testing.FakeHypervisor;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What device-state saves cost in this JVM: each device's latest save, and for other devices the lowest rate of a
 * completed migration, which a slow save cannot raise. The record is shared by the whole JVM, so these checks only
 * ever lower the floor, to next to nothing.
 */
class DeviceSaveRecordTest
{
    @Test
    void shouldPredictADevicesLatestSaveWhateverBecameOfItsMigration()
    {
        final DeviceState device = new FakeHypervisor(0);
        DeviceSaveRecord.onSaved(device, 600_000_000, 20_000); // abandoned by the downtime guard: never completed
        assertThat(DeviceSaveRecord.nsPerByte(device)).isEqualTo(30_000.0);

        DeviceSaveRecord.onSaved(device, 2_000_000, 20_000);
        assertThat(DeviceSaveRecord.nsPerByte(device)).as("the latest save").isEqualTo(100.0);

        DeviceSaveRecord.onSaved(device, 5_000_000, 0);
        assertThat(DeviceSaveRecord.nsPerByte(device)).as("a save of nothing teaches nothing").isEqualTo(100.0);
    }

    @Test
    void shouldGiveOtherDevicesTheLowestRateOfACompletedMigrationOnly()
    {
        final DeviceState slow = new FakeHypervisor(0);
        DeviceSaveRecord.onCompleted(1, 1L << 40);
        final double floor = DeviceSaveRecord.nsPerByte(new FakeHypervisor(0));
        assertThat(floor).isLessThanOrEqualTo(1.0 / (1L << 40));

        DeviceSaveRecord.onSaved(slow, 600_000_000, 20_000);
        DeviceSaveRecord.onCompleted(600_000_000, 20_000);
        assertThat(DeviceSaveRecord.nsPerByte(new FakeHypervisor(0))).as("a slow save does not raise the floor")
            .isEqualTo(floor);
        assertThat(DeviceSaveRecord.nsPerByte(slow)).as("but is the slow device's own").isEqualTo(30_000.0);
    }
}
