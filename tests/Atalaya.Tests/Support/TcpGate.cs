using System.Net;
using System.Net.Sockets;

namespace Atalaya.Tests.Support;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of a real server, which a test can close and open again: an
/// outage of the server as its clients see it (connections refused, open ones cut) without
/// stopping a server other test classes share.
/// </summary>
public sealed class TcpGate : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly List<TcpClient> _open = [];
    private TcpListener? _listener;
    private Task _accepting = Task.CompletedTask;

    public TcpGate(int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        Port = ServeProcess.FreePort();
        Open();
    }

    public int Port { get; }

    /// <summary>Accepts connections again, on the same port.</summary>
    public void Open()
    {
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Start();
        var listener = _listener;
        _accepting = Task.Run(async () =>
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    return;
                }
                _ = RelayAsync(client);
            }
        });
    }

    /// <summary>Refuses new connections and cuts the open ones.</summary>
    public async Task CloseAsync()
    {
        _listener?.Stop();
        await _accepting;
        lock (_open)
        {
            _open.ForEach(c => c.Dispose());
            _open.Clear();
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var server = new TcpClient();
        lock (_open)
        {
            _open.Add(client);
            _open.Add(server);
        }
        try
        {
            await server.ConnectAsync(_target);
            var a = client.GetStream();
            var b = server.GetStream();
            await Task.WhenAny(a.CopyToAsync(b), b.CopyToAsync(a));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await CloseAsync();
}
