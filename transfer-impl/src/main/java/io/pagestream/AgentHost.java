package io.pagestream;

import io.pagestream.api.MigrationContext;
import io.pagestream.api.ThreadingMode;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentRunner;

/**
 * Runs an agent the way the context asks: on a dedicated thread, or through an invoker the application drives.
 */
final class AgentHost implements AutoCloseable
{
    private final AgentRunner runner;
    private final AgentInvoker invoker;

    AgentHost(final MigrationContext<?> ctx, final Agent migrationAgent, final Agent transportDutyCycle)
    {
        // With the embedded driver on this thread, one thread per side does all the work: fewer threads competing
        // for the host's cores, and no hand-over between the agent and the driver.
        final Agent agent = null == transportDutyCycle ? migrationAgent :
            new org.agrona.concurrent.CompositeAgent(migrationAgent, transportDutyCycle);
        if (ctx.threadingMode() == ThreadingMode.DEDICATED)
        {
            runner = new AgentRunner(ctx.idleStrategy(), ctx.errorHandler(), null, agent);
            invoker = null;
            AgentRunner.startOnThread(runner);
        }
        else
        {
            runner = null;
            invoker = new AgentInvoker(ctx.errorHandler(), null, agent);
            invoker.start();
        }
    }

    AgentInvoker invoker()
    {
        return invoker;
    }

    public void close()
    {
        CloseHelper.closeAll(runner, invoker);
    }
}
