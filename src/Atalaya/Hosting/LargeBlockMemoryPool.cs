using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Atalaya.Hosting;

/// <summary>
/// Kestrel's connection memory in 64 KiB blocks instead of its default 4 KiB. The socket transport
/// receives into one pool block at a time, so with 4 KiB blocks a collector batch of 2.6 MB took
/// about 650 receive calls, each after a zero-byte "wait for data" call: on the 2-core VMs we run
/// on, the system calls' entry and exit cost more than copying the bytes (socket receive was ~11 %
/// of the hub's CPU during the ingest benchmark; docs/benchmarks.md). Blocks are pinned (the socket
/// layer pins what it reads into) and reused; at most <see cref="MaxFree"/> idle blocks are kept,
/// the rest left to the GC, so a burst of connections does not hold memory for ever.
/// </summary>
public sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;
    private const int MaxFree = 256;

    private readonly ConcurrentQueue<Block> _free = new();
    private int _freeCount;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        if (_free.TryDequeue(out var block))
        {
            Interlocked.Decrement(ref _freeCount);
            block.Leased = true;
            return block;
        }
        return new Block(this) { Leased = true };
    }

    private void Return(Block block)
    {
        if (Interlocked.Increment(ref _freeCount) <= MaxFree)
        {
            _free.Enqueue(block);
        }
        else
        {
            Interlocked.Decrement(ref _freeCount);
        }
    }

    protected override void Dispose(bool disposing) => _free.Clear();

    private sealed class Block(LargeBlockMemoryPool pool) : IMemoryOwner<byte>
    {
        private readonly byte[] _array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public bool Leased { get; set; }

        public Memory<byte> Memory => _array;

        public void Dispose()
        {
            // A second Dispose of the same lease must not put the block in the pool twice.
            if (Leased)
            {
                Leased = false;
                pool.Return(this);
            }
        }
    }

    /// <summary>What Kestrel asks for its transports' pools (registered in <see cref="HubHost"/>).</summary>
    public sealed class Factory : IMemoryPoolFactory<byte>
    {
        private int _created;

        /// <summary>How many pools Kestrel asked for (the tests check that it asks this factory).</summary>
        public int PoolsCreated => Volatile.Read(ref _created);

        public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
        {
            Interlocked.Increment(ref _created);
            return new LargeBlockMemoryPool();
        }
    }
}
